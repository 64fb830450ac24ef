"""Getting the model files in place (fetching, converting): provisioning, apart from inference."""
