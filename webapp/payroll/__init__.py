"""The monthly payroll: 发放花名册 pages and API, the bank file and the bank's return file, payment accounts."""
