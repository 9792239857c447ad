// Package disk implements [lambdahost.BlobStore] on a local directory.
//
// # Layout
//
// A store rooted at dir keeps
//
//	<dir>/blobs/sha256/<hex>   committed blobs, read-only (0444), named by the
//	                           lowercase hex SHA-256 of their content
//	<dir>/tmp/blob-*           blobs being written, not yet committed
//
// The blob directory is flat, as in the OCI image layout: ext4, XFS and APFS
// index large directories, and code blobs number in the thousands, not
// millions. Walk skips names in it that are not 64 lowercase hex digits.
// tmp/ lies inside dir so that it is on the same file system as blobs/, which
// linking a finished blob into place requires.
//
// # Durability
//
// Commit flushes the temporary file, makes it read-only, fsyncs it, and only
// then links it to its final name and fsyncs the blob directory. A blob
// therefore appears at its final path whole or not at all, even if the
// process is killed or the machine loses power at any moment, and it is
// durable when Commit returns, before any metadata that references it
// commits. If the blob exists already, Commit drops the new copy, updates
// the existing file's modification time, which Walk reports as the time it
// was committed, and still fsyncs the directory so that it never reports
// success for a link another writer has not yet made durable.
//
// A crash leaves temporary files behind. [NewBlobStore] removes those more
// than an hour old; [BlobStore.CleanTemp] removes them on demand.
//
// Delete does not fsync the directory: a deletion lost in a crash leaves an
// unreferenced blob, which the next garbage collection removes again.
// Delete is also unconditional: a collector that picks a blob by the
// committed time Walk reported can race a Commit that refreshes it just
// before the Delete, so the collector must keep such Commits out while it
// deletes; lambdahost.BlobStore has no conditional delete.
//
// # Performance
//
// Writes pass through a SHA-256 hasher and a 64 KiB buffer, which gathers
// small writes; writes of 64 KiB and more bypass it. On Linux, once
// a megabyte has reached the file the writer asks the kernel to start
// writing it to disk (sync_file_range), so that Commit's fsync waits only
// for the tail and the disk works while the rest of the blob arrives.
package disk
