"""What the product does with the domain and the ports: ingest, publish, operate."""
