# Every credential can come from the environment instead (see the provider documentation), which
# keeps secrets out of the configuration. Set only what differs from the defaults.
provider "arnica" {
  # A workspace administrator's OAuth consumer: reads every workspace and changes the
  # Administrators group where Bitbucket administers the workspace.
  bitbucket {
    oauth_client_id     = var.bitbucket_oauth_client_id
    oauth_client_secret = var.bitbucket_oauth_client_secret
  }

  # For workspaces administered in admin.atlassian.com, whose groups only the Atlassian Admin API
  # can change.
  atlassian_admin {
    org_id  = var.atlassian_org_id
    api_key = var.atlassian_admin_api_key
  }

  # An Arnica API key with integrations:read, integrations:write and inventory:read.
  arnica {
    api_token = var.arnica_api_token
  }
}

variable "bitbucket_oauth_client_id" {
  type = string
}

variable "bitbucket_oauth_client_secret" {
  type      = string
  sensitive = true
}

variable "atlassian_org_id" {
  type = string
}

variable "atlassian_admin_api_key" {
  type      = string
  sensitive = true
}

variable "arnica_api_token" {
  type      = string
  sensitive = true
}
