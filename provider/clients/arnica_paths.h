// Every Arnica API path the provider and the Arnica emulator use, in one place.
//
// Public: documented by Arnica (api.app.arnica.io/swagger; the arnica/skills repository).
// Modelled: Arnica publishes no API for SCM integrations; these paths and bodies are our model
// of the product's Bitbucket Cloud integration flow (register -> Arnica validates the credential
// against Bitbucket -> status and covered workspaces). docs/emulators.md and the provider docs
// say so; a deployment that exposes them elsewhere changes only this file.
#pragma once

namespace arnica::clients::arnica_paths {

inline constexpr char kDefaultBaseUrl[] = "https://api.app.arnica.io";

// Public.
inline constexpr char kAuthToken[] = "/v1/auth/token";            // GET
inline constexpr char kInventoryRepos[] = "/v1/inventory/repos";  // GET, offset/limit paging

// Modelled. POST creates, GET lists; "/{id}" GET reads (re-validating) and DELETE removes;
// "/{id}/credentials" PUT rotates; "/{id}/sync" POST re-runs ingestion (the product's Jobs
// page re-runs a job on demand), which fills the inventory with the covered workspaces'
// repositories.
inline constexpr char kBitbucketIntegrations[] = "/v1/integrations/bitbucket-cloud";
inline constexpr char kCredentialsSuffix[] = "/credentials";
inline constexpr char kSyncSuffix[] = "/sync";

}  // namespace arnica::clients::arnica_paths
