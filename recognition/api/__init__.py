"""The REST API of the identity domain (/api/v1/): thin views over services and selectors."""
