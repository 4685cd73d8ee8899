"""What the JSON API answers, as the models ``/openapi.json`` publishes: the shapes are a
contract integrations depend on, so each model names every field the endpoint has always sent."""
