"""The operator console's backend: services and selectors the /console/ pages call.

Between the SCIM edge and the portal in the import order (scim_api < console < portal): it reads
tenant schemas through the lower packages' models and services (request log, outbox, pipeline,
directory) and keeps the public-schema rollup, jobs and support sessions the pages show.
"""
