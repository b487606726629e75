# workspace/group/user, the user by UUID or account id.
tofu import arnica_bitbucket_group_membership.acme_mobile 'acme-mobile/administrators/{5e1c0a00-0000-4000-8000-00000000a001}'
