// Command pulumi-tfgen-kafka writes the provider's Pulumi schema (used at build time).
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	provider "kafkamig.local/kafka-provider"
)

func main() {
	tfgen.Main("kafka", provider.Version, provider.Info())
}
