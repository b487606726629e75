# The service account's API token, from a secret store, verified at every plan and held to the
# default least-privilege scopes. The token never reaches state or plan files.
variable "arnica_bitbucket_token" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "arnica_bitbucket_credential" "service_account" {
  principal         = "arnica-service-account@example.com"
  secret_wo         = var.arnica_bitbucket_token
  secret_wo_version = 1 # increase when the token is rotated
}

# The same account in the Administrators group of every workspace.
resource "arnica_bitbucket_group_memberships" "service_account" {
  user = arnica_bitbucket_credential.service_account.account_uuid
}
