# Backfill planned by kfm-compile 0.1.0 (target dagster) from specs/contract-7.1-cron.yaml
# spec digest: sha256:e931f0cac95423e00fec5fe6d681fa772b92fdfecb131f98a2c99e49665b55be
# 3 runs, one per partition of 2024-03-30..2024-04-01; ledger: cron_schedule_example.backfill-2024-03-30-2024-04-01.ledger.json.
# A line run again starts a second run of its date, with the same run token.
# logical date 2024-03-30T02:00:00Z, run token 9e5d2fba4916419049dfdf575f8026c5
dagster job launch -f cron_schedule_example.py -j cron_schedule_example_job --tags '{"kfm-compile.dev/logical-date":"2024-03-30T02:00:00+00:00"}'
# logical date 2024-03-31T02:00:00Z, run token c391b1e807993d8f1fd9067ad8d9f389
dagster job launch -f cron_schedule_example.py -j cron_schedule_example_job --tags '{"kfm-compile.dev/logical-date":"2024-03-31T02:00:00+00:00"}'
# logical date 2024-04-01T02:00:00Z, run token 2cbbe08f9b6e87034a780dec902d5859
dagster job launch -f cron_schedule_example.py -j cron_schedule_example_job --tags '{"kfm-compile.dev/logical-date":"2024-04-01T02:00:00+00:00"}'
