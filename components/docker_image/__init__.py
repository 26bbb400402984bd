"""`kafka-migration docker-image`: the Docker runtime's Kafka image, built into an engine from this machine's files."""
