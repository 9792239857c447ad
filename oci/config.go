package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ImageConfig is the part of an image's config that says how to run it,
// named as the OCI image spec's config.json names it:
// https://github.com/opencontainers/image-spec/blob/main/config.md
// A function's ImageConfig (EntryPoint, Command, WorkingDirectory)
// overrides the first three fields.
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	WorkingDir string
	// Env holds "NAME=value" entries.
	Env  []string
	User string
	// OS and Architecture are the image's platform ("linux", "amd64").
	OS           string
	Architecture string
}

// configJSON is the wire shape of an image config, OCI and Docker alike.
type configJSON struct {
	Architecture string `json:"architecture,omitempty"`
	OS           string `json:"os,omitempty"`
	Config       struct {
		Entrypoint []string `json:"Entrypoint,omitempty"`
		Cmd        []string `json:"Cmd,omitempty"`
		WorkingDir string   `json:"WorkingDir,omitempty"`
		Env        []string `json:"Env,omitempty"`
		User       string   `json:"User,omitempty"`
	} `json:"config"`
}

// parseConfig parses an image config. It refuses configs over
// maxConfigSize and strings holding NUL bytes, which no process argument,
// environment entry or path can carry.
func parseConfig(b []byte) (ImageConfig, error) {
	if len(b) > maxConfigSize {
		return ImageConfig{}, fmt.Errorf("parse image config: %d bytes, limit is %d", len(b), maxConfigSize)
	}
	var c configJSON
	if err := json.Unmarshal(b, &c); err != nil {
		return ImageConfig{}, fmt.Errorf("parse image config: %w", err)
	}
	ic := ImageConfig{
		Entrypoint:   c.Config.Entrypoint,
		Cmd:          c.Config.Cmd,
		WorkingDir:   c.Config.WorkingDir,
		Env:          c.Config.Env,
		User:         c.Config.User,
		OS:           c.OS,
		Architecture: c.Architecture,
	}
	if err := ic.validate(); err != nil {
		return ImageConfig{}, fmt.Errorf("parse image config: %w", err)
	}
	return ic, nil
}

func (ic ImageConfig) validate() error {
	strs := []string{ic.WorkingDir, ic.User, ic.OS, ic.Architecture}
	strs = append(strs, ic.Entrypoint...)
	strs = append(strs, ic.Cmd...)
	strs = append(strs, ic.Env...)
	for _, s := range strs {
		if strings.IndexByte(s, 0) >= 0 {
			return errors.New("NUL byte in a string")
		}
	}
	return nil
}
