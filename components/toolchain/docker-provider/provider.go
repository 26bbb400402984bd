// Package provider maps kreuzwerker/terraform-provider-docker onto Pulumi's `docker`
// package tokens through the Terraform bridge.
//
// The Go module proxy does not serve github.com/pulumi/pulumi-docker/provider/v5, so the
// toolchain builds this equivalent: the Terraform provider pulumi-docker bridges, the
// same tokens (`docker:index/container:Container`, `docker:index/remoteImage:RemoteImage`
// for `docker_image`, ...), the same field renames and provider defaults, so the
// pulumi-docker 5.2.0 Python SDK on PyPI drives it unchanged.
//
// Not here: pulumi-docker's native `docker:index/image:Image` (a build-and-push resource
// written in Go inside pulumi-docker, not a Terraform one) and its hybrid server; the
// project does not build images through Pulumi, so the SDK's Image class has no
// implementation in this plugin.
package provider

import (
	"context"
	"runtime"
	"unicode"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	ptokens "github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/terraform-providers/terraform-provider-docker/shim"
)

// Version is stamped at build time with the version the Python SDK asks for.
var Version = "0.0.0-dev"

// defaultHost is the engine the provider talks to when neither `host` nor DOCKER_HOST
// is set, as in pulumi-docker.
func defaultHost() string {
	if runtime.GOOS == "windows" {
		return "npipe:////./pipe/docker_engine"
	}
	return "unix:///var/run/docker.sock"
}

// member is the published token of NAME: docker:index/container:Container,
// docker:index/getLogs:getLogs (every member in a module of its own, lower-cased).
func member(name string) string {
	return "docker:index/" + string(unicode.ToLower(rune(name[0]))) + name[1:] + ":" + name
}

// Info returns the bridge description of the provider.
func Info() tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:           shimv2.NewProvider(shim.NewProvider(Version)),
		Name:        "docker",
		GitHubOrg:   "kreuzwerker",
		Description: "A Pulumi package for interacting with Docker in Pulumi programs",
		Keywords:    []string{"pulumi", "docker"},
		License:     "Apache-2.0",
		Version:     Version,
		Config: map[string]*tfbridge.SchemaInfo{
			"host": {Default: &tfbridge.DefaultInfo{
				EnvVars: []string{"DOCKER_HOST"},
				ComputeDefault: func(context.Context, tfbridge.ComputeDefaultOptions) (any, error) {
					return defaultHost(), nil
				},
			}},
			// A list in Terraform, published singular and not flattened.
			"registry_auth": {Name: "registryAuth", MaxItemsOne: tfbridge.False()},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"docker_config": {Tok: ptokens.Type(member("ServiceConfig"))},
			"docker_container": {
				Tok:                 ptokens.Type(member("Container")),
				DeleteBeforeReplace: true,
				Fields: map[string]*tfbridge.SchemaInfo{
					// One command (["echo", "1"]), so not pluralised; networks_advanced
					// takes several networks but keeps its singular name.
					"command":           {Name: "command"},
					"networks_advanced": {Name: "networksAdvanced"},
				},
			},
			"docker_image": {
				Tok:    ptokens.Type(member("RemoteImage")),
				Fields: map[string]*tfbridge.SchemaInfo{"name": {Name: "name"}},
			},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"docker_image": {Tok: ptokens.ModuleMember(member("getRemoteImage"))},
		},
	}
	// Everything else follows the standard layout of the published SDK:
	// docker_network -> docker:index/network:Network, data source docker_logs ->
	// docker:index/getLogs:getLogs.
	info.MustComputeTokens(tokens.SingleModule("docker_", "index", tokens.MakeStandard("docker")))
	info.SetAutonaming(255, "-")
	return info
}
