package control

import "context"

// kindCheckpoint: "<uuid>/<shard>" → a shard's checkpoint: how far a
// stream mapping has handed the shard on.
const kindCheckpoint = "event-source-checkpoint"

// pollStream polls every shard of stream mapping m until ctx is done.
func (s *Service) pollStream(ctx context.Context, m *EventSourceMapping) {
	<-ctx.Done()
}
