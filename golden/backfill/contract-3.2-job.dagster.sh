# Backfill planned by kfm-compile 0.1.0 (target dagster) from specs/contract-3.2-job.yaml
# spec digest: sha256:ab9f4c3567eb4126b395a228fe110bc8c2a6a325f47bf818652d687290cdb693
# 3 runs, one per partition of 2024-03-30..2024-04-01; ledger: daily_sales_ingest.backfill-2024-03-30-2024-04-01.ledger.json.
# A line run again starts a second run of its date, with the same run token.
# logical date 2024-03-30T00:00:00Z, run token 1af53a1f1adc525c7447d0583fb64aa6
dagster job launch -f daily_sales_ingest.py -j daily_sales_ingest_job --tags '{"kfm-compile.dev/logical-date":"2024-03-30T00:00:00+00:00"}'
# logical date 2024-03-31T00:00:00Z, run token e8222cdfb149d8a571e9caff6b5f703c
dagster job launch -f daily_sales_ingest.py -j daily_sales_ingest_job --tags '{"kfm-compile.dev/logical-date":"2024-03-31T00:00:00+00:00"}'
# logical date 2024-04-01T00:00:00Z, run token 2a803fa976580a8b0fbf73fc2f0a36ad
dagster job launch -f daily_sales_ingest.py -j daily_sales_ingest_job --tags '{"kfm-compile.dev/logical-date":"2024-04-01T00:00:00+00:00"}'
