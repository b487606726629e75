# Arnica's Bitbucket Cloud integration, bound to the service account's API token (the same
# variable the credential resource verifies) and expected to cover every listed workspace.
variable "arnica_bitbucket_token" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "arnica_bitbucket_integration" "bitbucket_cloud" {
  name              = "bitbucket-cloud"
  principal         = "arnica-service-account@example.com"
  secret_wo         = var.arnica_bitbucket_token
  secret_wo_version = 1 # increase when the token is rotated
  workspaces        = ["acme-platform", "acme-mobile"]
}
