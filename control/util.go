package control

import (
	"maps"
	"slices"
	"strconv"

	"github.com/lambdahost/lambdahost"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// cloneConfig deep-copies c so that a published version shares nothing
// with $LATEST.
func cloneConfig(c lambdahost.Config) lambdahost.Config {
	out := c
	if c.Environment != nil {
		out.Environment = maps.Clone(c.Environment)
	}
	out.Layers = slices.Clone(c.Layers)
	out.Architectures = slices.Clone(c.Architectures)
	out.FileSystemConfigs = slices.Clone(c.FileSystemConfigs)
	if c.VpcConfig != nil {
		vc := *c.VpcConfig
		vc.SubnetIDs = slices.Clone(vc.SubnetIDs)
		vc.SecurityGroupIDs = slices.Clone(vc.SecurityGroupIDs)
		out.VpcConfig = &vc
	}
	if c.ImageConfig != nil {
		ic := *c.ImageConfig
		ic.EntryPoint = slices.Clone(ic.EntryPoint)
		ic.Command = slices.Clone(ic.Command)
		out.ImageConfig = &ic
	}
	return out
}
