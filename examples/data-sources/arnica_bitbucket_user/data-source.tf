# The service account, found by its e-mail among a workspace's members (Bitbucket answers e-mail
# lookups to the workspace's administrators only).
data "arnica_bitbucket_user" "service_account" {
  email     = "arnica-service-account@example.com"
  workspace = "acme-platform"
}

output "service_account_uuid" {
  value = data.arnica_bitbucket_user.service_account.uuid
}
