# Backfill planned by kfm-compile 0.1.0 (target dagster) from specs/dst-safe-schedule.yaml
# spec digest: sha256:67c32827fd24a40d16a57828c686a2b4e0ac41a020070dc07f33506a2d1f5789
# 3 runs, one per partition of 2024-03-30..2024-04-01; ledger: berlin_nightly.backfill-2024-03-30-2024-04-01.ledger.json.
# A line run again starts a second run of its date, with the same run token.
# logical date 2024-03-30T03:15:00Z, run token 40a37014a3b56876eece01f3d4c12cc3
dagster job launch -f berlin_nightly.py -j berlin_nightly_job --tags '{"kfm-compile.dev/logical-date":"2024-03-30T03:15:00+00:00"}'
# logical date 2024-03-31T02:15:00Z, run token cd4091b7d76e2c611db9d120454e2874
dagster job launch -f berlin_nightly.py -j berlin_nightly_job --tags '{"kfm-compile.dev/logical-date":"2024-03-31T02:15:00+00:00"}'
# logical date 2024-04-01T02:15:00Z, run token 99047245144601b853106dd9e004e1f1
dagster job launch -f berlin_nightly.py -j berlin_nightly_job --tags '{"kfm-compile.dev/logical-date":"2024-04-01T02:15:00+00:00"}'
