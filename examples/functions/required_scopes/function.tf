# The scopes to tick when creating the service account's API token.
output "arnica_api_token_scopes" {
  value = provider::arnica::required_scopes("api_token")
}
