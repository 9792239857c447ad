// Package oci implements [lambdahost.CodeSource] for container images held
// in OCI registries, and unpacks those images into read-only root file
// systems for the executor.
//
// It speaks the OCI Distribution Specification through go-containerregistry:
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md
//
// # Fetch
//
// [Source.Fetch] resolves an ImageUri's tag to a manifest and writes the
// manifest's bytes into the blob writer it is given, so that the function's
// CodeSha256 is the manifest digest, as on AWS, and a tag moved later does
// not change what a version runs. An image index (a multi-platform image) is
// resolved to the manifest of the function's platform, linux/amd64 for
// x86_64 and linux/arm64 for arm64, and that manifest is what is written.
// AWS refuses image indexes altogether (the "media type ... is not
// supported" error); lambdahost accepts them because it costs nothing and
// multi-platform images are now the default output of docker buildx.
//
// Errors meant for the caller are [lambdahost.Error] values worded as AWS's.
//
// # Unpack
//
// [Source.Unpack] pulls an image's layers and applies them, in order, to an
// empty directory, as the OCI image spec's layer changesets describe:
// https://github.com/opencontainers/image-spec/blob/main/layer.md
// Whiteouts (".wh.<name>") delete what lower layers put at <name>, and
// opaque whiteouts (".wh..wh..opq") hide everything lower layers put in a
// directory:
// https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts
//
// The layout under Source.Dir is
//
//	images/sha256/<hex>/rootfs        the unpacked root file system, read-only
//	images/sha256/<hex>/config.json   the image config, as the registry served it
//	images/tmp/                       unpacks in progress and images being removed
//
// where <hex> is the manifest digest. An image is extracted under
// images/tmp, flushed to disk, and only then renamed into place, so a path
// under images/sha256 is always a whole image, even after a crash.
//
// # Untrusted layers
//
// Layers come from whoever can push to a registry, so extraction treats
// them as hostile. Every file operation goes through an [os.Root] opened on
// the new root file system, so nothing can be created, changed or linked
// outside it. Entry names are cleaned as if the root were "/": ".." stops at
// the root and absolute names are taken relative to it. Symbolic links in an
// entry's parent directories are followed as a chroot would follow them
// (absolute targets start at the root), so that images whose layers write
// through links such as /lib -> /usr/lib unpack as they do in Docker.
// Device nodes and FIFOs are skipped, ownership is not applied, set-user-ID,
// set-group-ID and sticky bits are dropped, and every file and directory
// loses its write bits once the image is complete. The sum of the layers'
// uncompressed sizes is bounded, as AWS bounds it (10 GB), and so is the
// number of entries, so that a decompression bomb fails instead of filling
// the disk.
//
// An unpacked root file system holds symbolic links whose targets are only
// meaningful inside it: the executor must enter it (chroot, pivot_root or a
// mount namespace) rather than follow paths into it from the host.
package oci
