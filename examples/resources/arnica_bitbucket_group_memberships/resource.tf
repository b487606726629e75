# The service account in the Administrators group of every workspace the provider's credential
# administers, found again at every plan, except one left alone.
resource "arnica_bitbucket_group_memberships" "service_account" {
  user               = "{5e1c0a00-0000-4000-8000-00000000a001}"
  exclude_workspaces = ["acme-sandbox"]
}
