// Package provider maps Mongey/terraform-provider-kafka onto Pulumi's `kafka` package
// tokens through the Terraform bridge.
//
// The Go module proxy does not serve github.com/pulumi/pulumi-kafka/provider/v3, so
// the toolchain builds this equivalent: the same Terraform provider (v0.13.1, the one
// pulumi-kafka 3.12.x/3.13.x wraps), the same tokens (`kafka:index/topic:Topic`,
// `kafka:index/acl:Acl`, ...), the same field renames and defaults, so the
// pulumi-kafka Python SDK on PyPI drives it unchanged.
package provider

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/Mongey/terraform-provider-kafka/kafka"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
)

// Version is stamped at build time with the version the Python SDK asks for.
var Version = "0.0.0-dev"

// Info returns the bridge description of the provider.
func Info() tfbridge.ProviderInfo {
	envDefault := func(env string, value any) *tfbridge.SchemaInfo {
		return &tfbridge.SchemaInfo{Default: &tfbridge.DefaultInfo{EnvVars: []string{env}, Value: value}}
	}
	info := tfbridge.ProviderInfo{
		P:           shimv2.NewProvider(kafka.Provider()),
		Name:        "kafka",
		GitHubOrg:   "Mongey",
		Description: "A Pulumi package for creating and managing Kafka.",
		License:     "Apache-2.0",
		Version:     Version,
		Config: map[string]*tfbridge.SchemaInfo{
			"sasl_mechanism":  envDefault("KAFKA_SASL_MECHANISM", "plain"),
			"skip_tls_verify": envDefault("KAFKA_SKIP_VERIFY", false),
			"tls_enabled":     envDefault("KAFKA_ENABLE_TLS", true),
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"kafka_acl": {Fields: map[string]*tfbridge.SchemaInfo{
				"resource_name": {Name: "aclResourceName"},
				"resource_type": {Name: "aclResourceType"},
			}},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"kafka_topic": {Docs: &tfbridge.DocInfo{Markdown: []byte{' '}}},
		},
	}
	// Resources live in per-resource modules (kafka:index/topic:Topic); functions do
	// not (kafka:index:getTopic). This is the token layout of the published SDKs.
	info.MustComputeTokens(tokens.SingleModule("kafka", "index", func(module, name string) (string, error) {
		if !strings.HasPrefix(name, "get") {
			module += "/" + string(unicode.ToLower(rune(name[0]))) + name[1:]
		}
		return fmt.Sprintf("kafka:%s:%s", module, name), nil
	}))
	info.SetAutonaming(255, "-")
	return info
}
