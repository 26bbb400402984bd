// Command pulumi-tfgen-docker writes the provider's Pulumi schema (used at build time).
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	provider "kafkamig.local/docker-provider"
)

func main() {
	tfgen.Main("docker", provider.Version, provider.Info())
}
