// Package shim exposes the Docker Terraform provider, which upstream keeps in
// internal/provider. Go lets a package import an internal one only from under the
// internal directory's parent import path, so this small module is named
// github.com/terraform-providers/terraform-provider-docker/shim (the upstream module's
// own path, which kreuzwerker's go.mod still declares) and the provider module
// replaces it with this directory.
package shim

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// NewProvider returns the SDKv2 half of the upstream provider: every resource and data
// source pulumi-docker bridges. The plugin-framework half (docker_compose, the
// docker_containers data source, actions) is not part of pulumi-docker 5.x.
func NewProvider(version string) *schema.Provider {
	return provider.New(version)()
}
