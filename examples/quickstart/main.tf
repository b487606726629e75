# Onboards every Bitbucket Cloud workspace into Arnica in one configuration:
#   1. the service account's API token, verified and held to least privilege;
#   2. the service account in the Administrators group of every workspace the admin credential
#      administers (through the Atlassian Admin API where admin.atlassian.com runs the workspace);
#   3. Arnica's Bitbucket Cloud integration bound to that token, covering those workspaces.
#
# Provider credentials come from the environment, so this file holds no secret:
#   BITBUCKET_OAUTH_CLIENT_ID, BITBUCKET_OAUTH_CLIENT_SECRET  OAuth consumer of a workspace
#                                                            administrator (account:write)
#   ATLASSIAN_ADMIN_ORG_ID, ATLASSIAN_ADMIN_API_KEY          organisation API key, for workspaces
#                                                            administered in admin.atlassian.com
#   ARNICA_API_TOKEN                                         Arnica API key (integrations:read,
#                                                            integrations:write, inventory:read)
# The service account's token comes in as TF_VAR_service_account_token; it is never stored.

terraform {
  required_version = ">= 1.11" # write-only attributes
  required_providers {
    arnica = {
      source = "arnica/arnica"
    }
  }
}

provider "arnica" {}

variable "service_account_email" {
  type        = string
  description = "The Atlassian e-mail address of Arnica's service account."
}

variable "service_account_token" {
  type        = string
  description = "The service account's Atlassian API token with Bitbucket scopes."
  sensitive   = true
  ephemeral   = true
}

variable "service_account_token_version" {
  type        = number
  description = "Increase it whenever the token is rotated."
  default     = 1
}

variable "integration_name" {
  type    = string
  default = "bitbucket-cloud"
}

# Every workspace the admin credential administers, found again at every plan: a new workspace
# shows up as planned work.
data "arnica_bitbucket_workspaces" "administered" {
  administrator = true
}

locals {
  workspaces = toset([for w in data.arnica_bitbucket_workspaces.administered.workspaces : w.slug])
}

resource "arnica_bitbucket_credential" "service_account" {
  principal         = var.service_account_email
  secret_wo         = var.service_account_token
  secret_wo_version = var.service_account_token_version
}

resource "arnica_bitbucket_group_memberships" "service_account" {
  user       = arnica_bitbucket_credential.service_account.account_uuid
  workspaces = local.workspaces
}

resource "arnica_bitbucket_integration" "bitbucket_cloud" {
  name              = var.integration_name
  principal         = var.service_account_email
  secret_wo         = var.service_account_token
  secret_wo_version = var.service_account_token_version
  workspaces        = local.workspaces

  # Arnica reaches a workspace through the service account's membership.
  depends_on = [arnica_bitbucket_group_memberships.service_account]
}

output "covered_workspaces" {
  value = arnica_bitbucket_integration.bitbucket_cloud.covered_workspaces
}

output "uncovered_workspaces" {
  description = "Expected workspaces Arnica does not cover yet; empty after a successful apply."
  value       = arnica_bitbucket_integration.bitbucket_cloud.uncovered_workspaces
}
