# Every workspace the provider's credential administers.
data "arnica_bitbucket_workspaces" "administered" {
  administrator = true
}

output "administered_workspaces" {
  value = [for w in data.arnica_bitbucket_workspaces.administered.workspaces : w.slug]
}
