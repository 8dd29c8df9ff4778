"""Application services: the pipeline and the staff operations that join the core to the store."""
