# The service account in one workspace's Administrators group. The account must already be a
# member of the workspace: Bitbucket has no API to invite.
resource "arnica_bitbucket_group_membership" "acme_mobile" {
  workspace = "acme-mobile"
  user      = "{5e1c0a00-0000-4000-8000-00000000a001}" # UUID (any spelling) or account id
}
