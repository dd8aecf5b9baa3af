# Backfill planned by kfm-compile 0.1.0 (target github-actions) from specs/contract-3.2-job.yaml
# spec digest: sha256:ab9f4c3567eb4126b395a228fe110bc8c2a6a325f47bf818652d687290cdb693
# 3 runs, one per partition of 2024-03-30..2024-04-01; ledger: daily_sales_ingest.backfill-2024-03-30-2024-04-01.ledger.json.
# GitHub cannot refuse a second dispatch of a date: dispatch each line once (a repeated date gets the same run token), and record it in the ledger.
# logical date 2024-03-30T00:00:00Z, run token 1af53a1f1adc525c7447d0583fb64aa6
gh workflow run 'daily_sales_ingest.yml' --ref 'main' -f logical_date=2024-03-30T00:00:00Z
# logical date 2024-03-31T00:00:00Z, run token e8222cdfb149d8a571e9caff6b5f703c
gh workflow run 'daily_sales_ingest.yml' --ref 'main' -f logical_date=2024-03-31T00:00:00Z
# logical date 2024-04-01T00:00:00Z, run token 2a803fa976580a8b0fbf73fc2f0a36ad
gh workflow run 'daily_sales_ingest.yml' --ref 'main' -f logical_date=2024-04-01T00:00:00Z
