package control

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/lambdahost/lambdahost"
)

// FunctionConfig is a version's configuration as an operation answers it:
// ARN is qualified the way the caller asked (unqualified for $LATEST when
// no qualifier was given, the alias ARN when an alias was resolved).
type FunctionConfig struct {
	*lambdahost.Version
	ARN string
}

// FunctionInfo is what GetFunction answers.
type FunctionInfo struct {
	FunctionConfig
	Tags map[string]string
	// ReservedConcurrency is the function's reserved concurrency, nil when
	// none is set or when a qualifier was given: AWS answers Concurrency
	// only for the function itself.
	ReservedConcurrency *int
}

// CreateFunctionInput is a CreateFunction request.
type CreateFunctionInput struct {
	FunctionName string
	Config       ConfigInput
	// PackageType is Zip or Image; "" means Zip.
	PackageType          string
	Code                 *CodeInput
	Publish              bool
	PublishTo            *string
	Architectures        []string
	Tags                 map[string]string
	CodeSigningConfigARN *string
}

const publishToLatestPublished = "LATEST_PUBLISHED"

func validatePublishTo(p *string) error {
	if p != nil && *p != publishToLatestPublished {
		var v lambdahost.Validation
		v.Add("publishTo", lambdahost.Quote(*p), "Member must satisfy enum value set: [LATEST_PUBLISHED]")
		return v.Err()
	}
	return nil
}

// CreateFunction creates a function from in and answers its $LATEST (or,
// with Publish, its version 1) configuration, in state Pending, under the
// unqualified function ARN.
func (s *Service) CreateFunction(ctx context.Context, in *CreateFunctionInput) (*FunctionConfig, error) {
	s.init()
	began := s.Now()
	t, err := resolveFunction(ctx, in.FunctionName, ruleFunctionOnly)
	if err != nil {
		return nil, err
	}
	var v lambdahost.Validation
	if in.Config.Role == nil {
		v.Add("role", "null", "Member must not be null")
	}
	if in.Code == nil {
		v.Add("code", "null", "Member must not be null")
	}
	if in.PackageType != "" && in.PackageType != lambdahost.PackageZip && in.PackageType != lambdahost.PackageImage {
		v.Add("packageType", lambdahost.Quote(in.PackageType), "Member must satisfy enum value set: [Zip, Image]")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	pkg := in.PackageType
	if pkg == "" {
		pkg = lambdahost.PackageZip
	}
	if err := validateConfig(&in.Config, pkg); err != nil {
		return nil, err
	}
	if err := checkLogLevels(&in.Config, ""); err != nil {
		return nil, err
	}
	if err := validateArchitectures(in.Architectures); err != nil {
		return nil, err
	}
	if err := validatePublishTo(in.PublishTo); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags, false); err != nil {
		return nil, err
	}
	if err := validateCode(in.Code); err != nil {
		return nil, err
	}
	if err := checkPackageType(in.Code, pkg, "creating"); err != nil {
		return nil, err
	}
	if pkg == lambdahost.PackageZip && (in.Config.Runtime == nil || *in.Config.Runtime == "" || in.Config.Handler == nil || *in.Config.Handler == "") {
		return nil, invalidf("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	cscARN := ""
	if in.CodeSigningConfigARN != nil {
		cscARN = *in.CodeSigningConfigARN
		if _, err := parseCSCARN(ctx, cscARN); err != nil {
			return nil, err
		}
		if pkg == lambdahost.PackageImage {
			return nil, errImageCodeSigning()
		}
	}
	if err := s.precheckCreate(ctx, t.id); err != nil {
		return nil, err
	}
	arch := "x86_64"
	if len(in.Architectures) == 1 {
		arch = in.Architectures[0]
	}
	st, err := s.stage(ctx, t.id.Account, in.Code, pkg, arch)
	if err != nil {
		return nil, err
	}
	// From committing code to committing the metadata that references it,
	// garbage collection on any node must wait (see
	// lambdahost.Coordinator.LockCode). Staging, which may fetch from S3
	// for a long time, needs no lock.
	unlock, err := s.store.LockCode(ctx, false)
	if err != nil {
		return nil, internal("lock code", err)
	}
	defer unlock()

	now := s.now()
	cfg := lambdahost.Config{
		Timeout: 3, MemorySize: 128, EphemeralStorage: 512, TracingMode: "PassThrough",
		Architectures: []string{"x86_64"}, SnapStartApplyOn: "None",
		Logging: lambdahost.LoggingConfig{LogFormat: "Text", LogGroup: "/aws/lambda/" + t.id.Name},
	}
	apply(&cfg, &in.Config)
	if in.Architectures != nil {
		cfg.Architectures = slices.Clone(in.Architectures)
	}
	latest := &lambdahost.Version{
		Function: t.id, Name: lambdahost.VersionLatest, RevisionID: s.NewRevisionID(),
		LastModified: now, Config: cfg, Code: st.code, Status: pending(),
	}
	fn := &lambdahost.Function{ID: t.id, Created: now, Changes: 1}
	if len(in.Tags) > 0 {
		fn.Tags = maps.Clone(in.Tags)
	}
	var settle []*lambdahost.Version
	answer := latest
	copies := 1
	if in.Publish || in.PublishTo != nil {
		copies = 2
	}

	if cscARN != "" {
		st.readSignature()
	}
	if err := st.commit(ctx); err != nil {
		return nil, internal("commit code", err)
	}
	c, err := caller(ctx)
	if err != nil {
		return nil, internal("create function", err)
	}
	var (
		hist    *Deployment
		settled bool
	)
	committing := time.Now()
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		settle = settle[:0]
		if err := s.checkStorage(ctx, tx, t.id, st.code.Size*int64(copies)); err != nil {
			return err
		}
		csc, err := s.verifyCode(ctx, tx, t.id, cscARN, st)
		if err != nil {
			return err
		}
		if in.Config.Layers != nil {
			layers, recs, err := attachLayers(ctx, tx, c, t.id, *in.Config.Layers)
			if err != nil {
				return err
			}
			if err := checkUnzippedWithLayers(st.code, layers); err != nil {
				return err
			}
			if err := s.verifyLayers(ctx, tx, t.id, cscARN, recs, nil); err != nil {
				return err
			}
			latest.Config.Layers = layers
		}
		latest.Code = st.code
		if err := tx.CreateFunction(ctx, fn); err != nil {
			return err
		}
		if csc != nil {
			if err := bindCSC(ctx, tx, t.id, csc); err != nil {
				return err
			}
		}
		if err := st.store(ctx, tx); err != nil {
			return err
		}
		u, err := s.putWith(ctx, tx, st.fail, latest)
		if err != nil {
			return err
		}
		settle = append(settle, u)
		if in.Publish || in.PublishTo != nil {
			pub := s.publishCopy(fn, latest, in.PublishTo, nil, now)
			if err := tx.PutFunction(ctx, fn); err != nil {
				return err
			}
			u, err := s.putWith(ctx, tx, st.fail, pub)
			if err != nil {
				return err
			}
			settle = append(settle, u)
			answer = pub
		}
		hist = deploymentOf(ctx, "CreateFunction", began, fn.Changes, latest)
		hist.Status = lambdahost.UpdateInProgress
		hist.Timing = st.timingSoFar()
		if answer != latest {
			hist.PublishedVersion = answer.Name
		}
		settled, err = s.recordDeployment(ctx, tx, t.id, hist)
		return err
	})
	if errors.Is(err, lambdahost.ErrExists) {
		return nil, lambdahost.Errorf(lambdahost.ResourceConflictException, "Function already exist: %s", t.id.Name)
	}
	if err != nil {
		return nil, internal("create function", err)
	}
	s.deployed(ctx, "CreateFunction", t.id, st, committing)
	if settled {
		s.meterSettled(hist)
	}
	s.schedule(settle...)
	// With Publish, AWS answers version 1's configuration under the
	// unqualified ARN (recorded), unlike UpdateFunctionCode's.
	return &FunctionConfig{Version: answer, ARN: t.id.ARN()}, nil
}

// precheckCreate answers ResourceConflictException early, before any code is
// staged, when the function exists. The create transaction checks again.
func (s *Service) precheckCreate(ctx context.Context, id lambdahost.FunctionID) error {
	err := s.store.View(ctx, func(tx lambdahost.Tx) error {
		_, err := tx.Function(ctx, id)
		return err
	})
	switch {
	case err == nil:
		return lambdahost.Errorf(lambdahost.ResourceConflictException, "Function already exist: %s", id.Name)
	case errors.Is(err, lambdahost.ErrNotFound):
		return nil
	default:
		return internal("check function", err)
	}
}

// publishCopy returns a new published version made from latest: the next
// number, or $LATEST.PUBLISHED when publishTo says so. It updates fn's
// counters; the caller writes fn.
func (s *Service) publishCopy(fn *lambdahost.Function, latest *lambdahost.Version, publishTo *string, description *string, now time.Time) *lambdahost.Version {
	pub := *latest
	pub.Config = cloneConfig(latest.Config)
	pub.RevisionID = s.NewRevisionID()
	pub.LastModified = now
	pub.Status = pending()
	if description != nil {
		pub.Config.Description = *description
	}
	if publishTo != nil {
		pub.Name = lambdahost.VersionLatestPublished
		return &pub
	}
	fn.LastVersion++
	fn.PublishedChanges = fn.Changes
	pub.Name = itoa(fn.LastVersion)
	return &pub
}

// GetFunction answers the configuration, code and tags of a function
// version or alias. Another account may read it when the function's
// policy allows it lambda:GetFunction.
func (s *Service) GetFunction(ctx context.Context, name, qualifier string) (*FunctionInfo, error) {
	s.init()
	t, err := s.resolveGranted(ctx, name, lambdahost.NameNamespaced, qualifier, actionGetFunction)
	if err != nil {
		return nil, err
	}
	var out FunctionInfo
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		fc, err := s.lookup(ctx, tx, t)
		if err != nil {
			return err
		}
		fn, err := tx.Function(ctx, t.id)
		if err != nil {
			return err
		}
		out.FunctionConfig = *fc
		out.Tags = fn.Tags
		if t.qualifier == "" {
			out.ReservedConcurrency = fn.ReservedConcurrency
		}
		return nil
	})
	if err != nil {
		return nil, s.notFoundOr(t, err, "get function")
	}
	return &out, nil
}

// GetFunctionConfiguration answers the configuration of a version or
// alias. Another account may read it when the function's policy allows it
// lambda:GetFunctionConfiguration.
func (s *Service) GetFunctionConfiguration(ctx context.Context, name, qualifier string) (*FunctionConfig, error) {
	s.init()
	t, err := s.resolveGranted(ctx, name, lambdahost.NameNamespaced, qualifier, actionGetConfiguration)
	if err != nil {
		return nil, err
	}
	var out *FunctionConfig
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		out, err = s.lookup(ctx, tx, t)
		return err
	})
	if err != nil {
		return nil, s.notFoundOr(t, err, "get function configuration")
	}
	return out, nil
}

// lookup finds the version t names, following an alias.
func (s *Service) lookup(ctx context.Context, tx lambdahost.Tx, t target) (*FunctionConfig, error) {
	q := t.qualifier
	version := q
	if q == "" {
		version = lambdahost.VersionLatest
	} else if lambdahost.VersionOrder(q) == -3 {
		a, err := tx.Alias(ctx, t.id, q)
		if err != nil {
			return nil, err
		}
		version = a.FunctionVersion
	}
	v, err := tx.Version(ctx, t.id, version)
	if err != nil {
		return nil, err
	}
	return &FunctionConfig{Version: v, ARN: t.id.QualifiedARN(q)}, nil
}

// notFoundOr turns ErrNotFound into AWS's "Function not found" for t and
// anything else into a ServiceException.
func (s *Service) notFoundOr(t target, err error, op string) error {
	if errors.Is(err, lambdahost.ErrNotFound) {
		return notFound(t.id, t.qualifier)
	}
	return internal(op, err)
}

// DeleteFunction deletes a function, or one version of it when qualifier
// (or the name) names a published version.
func (s *Service) DeleteFunction(ctx context.Context, name, qualifier string) error {
	s.init()
	t, err := resolve(ctx, name, lambdahost.NameNamespaced, qualifier)
	if err != nil {
		return err
	}
	switch q := t.qualifier; {
	case q == "":
		err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
			if err := unbindCSC(ctx, tx, t.id); err != nil {
				return err
			}
			if err := deleteFunctionRecords(ctx, tx, t.id); err != nil {
				return err
			}
			if err := forgetAccess(ctx, tx, t.id, ""); err != nil {
				return err
			}
			if err := forgetDeployments(ctx, tx, t.id); err != nil {
				return err
			}
			return tx.DeleteFunction(ctx, t.id)
		})
	case q == lambdahost.VersionLatest:
		return invalidf("$LATEST version cannot be deleted without deleting the function.")
	case lambdahost.VersionOrder(q) == -3:
		return invalidf("Deletion of aliases is not currently supported.")
	default:
		err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
			if _, err := tx.Function(ctx, t.id); err != nil {
				return err
			}
			// Deleting a version that does not exist succeeds, as on AWS.
			if _, err := tx.Version(ctx, t.id, q); errors.Is(err, lambdahost.ErrNotFound) {
				return nil
			} else if err != nil {
				return err
			}
			aliases, err := tx.ListAliases(ctx, t.id, "", 0)
			if err != nil {
				return err
			}
			var refs []string
			for _, a := range aliases {
				if a.FunctionVersion == q {
					refs = append(refs, a.Name)
					continue
				}
				if _, ok := a.AdditionalVersionWeights[q]; ok {
					refs = append(refs, a.Name)
				}
			}
			if refs != nil {
				return lambdahost.Errorf(lambdahost.ResourceConflictException,
					"Unable to delete version because the following aliases reference it: %v", refs)
			}
			if err := deleteQualifierRecords(ctx, tx, t.id, q); err != nil {
				return err
			}
			if err := forgetAccess(ctx, tx, t.id, q); err != nil {
				return err
			}
			return tx.DeleteVersion(ctx, t.id, q)
		})
	}
	if err != nil {
		return s.notFoundOr(target{id: t.id}, err, "delete function")
	}
	if s.Deleted != nil {
		s.Deleted(t.id)
	}
	s.provisionChanged()
	if t.qualifier == "" {
		s.meter().FunctionDeleted(t.id)
	}
	return nil
}

// UpdateCodeInput is an UpdateFunctionCode request.
type UpdateCodeInput struct {
	FunctionName  string
	Code          CodeInput
	Publish       bool
	PublishTo     *string
	DryRun        bool
	RevisionID    *string
	Architectures []string
}

// UpdateFunctionCode replaces $LATEST's code. It answers $LATEST's
// configuration with LastUpdateStatus InProgress, or with Publish the new
// version's, Pending. With DryRun it validates everything and answers the
// would-be configuration without changing anything.
func (s *Service) UpdateFunctionCode(ctx context.Context, in *UpdateCodeInput) (*FunctionConfig, error) {
	s.init()
	began := s.Now()
	t, err := resolveFunction(ctx, in.FunctionName, ruleLatestOnly)
	if err != nil {
		return nil, err
	}
	if err := validateCode(&in.Code); err != nil {
		return nil, err
	}
	if err := validateArchitectures(in.Architectures); err != nil {
		return nil, err
	}
	if err := validatePublishTo(in.PublishTo); err != nil {
		return nil, err
	}
	// Read the function first: a missing function, a conflicting state or a
	// stale RevisionId are answered before any code is staged.
	var cur *lambdahost.Version
	var cscARN string
	err = s.store.View(ctx, func(tx lambdahost.Tx) error {
		cur, err = tx.Version(ctx, t.id, lambdahost.VersionLatest)
		if err != nil {
			return err
		}
		if cscARN, err = boundCSC(ctx, tx, t.id); err != nil {
			return err
		}
		return checkWritable(t.id, cur, in.RevisionID)
	})
	if err != nil {
		return nil, s.notFoundOr(t, err, "read function")
	}
	pkg := cur.Code.PackageType
	if err := checkPackageType(&in.Code, pkg, "updating"); err != nil {
		return nil, err
	}
	arch := "x86_64"
	if len(in.Architectures) == 1 {
		arch = in.Architectures[0]
	} else if len(cur.Config.Architectures) == 1 {
		arch = cur.Config.Architectures[0]
	}
	st, err := s.stage(ctx, t.id.Account, &in.Code, pkg, arch)
	if err != nil {
		return nil, err
	}
	if cscARN != "" {
		// Hash the package for its signature before the write transaction.
		st.readSignature()
	}
	return s.deployCode(ctx, deployInput{
		op: "UpdateFunctionCode", id: t.id, began: began, st: st, cur: cur,
		publish: in.Publish, publishTo: in.PublishTo, dryRun: in.DryRun,
		revisionID: in.RevisionID, architectures: in.Architectures, cscARN: cscARN,
	})
}

// deployInput is a deployment of staged code to $LATEST: an
// UpdateFunctionCode, or a rollback to a version's code.
type deployInput struct {
	op              string
	id              lambdahost.FunctionID
	began           time.Time
	st              *staged
	cur             *lambdahost.Version
	publish, dryRun bool
	publishTo       *string
	revisionID      *string
	architectures   []string
	// cscARN is the code signing config the function used when the code
	// was staged; the transaction checks the one it commits with.
	cscARN string
	// rolledBackTo is the version whose code a rollback deploys, and
	// check confirms within the transaction that it still has that code.
	rolledBackTo string
	check        func(ctx context.Context, tx lambdahost.Tx) error
}

// deployCode commits in.st as $LATEST's code (with in.publish, also as a
// new version), holding the code lock (see CreateFunction): the second
// half of UpdateFunctionCode, once the code is staged and hashed.
func (s *Service) deployCode(ctx context.Context, in deployInput) (*FunctionConfig, error) {
	t, st, cur := target{id: in.id}, in.st, in.cur
	if in.check == nil {
		in.check = func(context.Context, lambdahost.Tx) error { return nil }
	}
	unlock, err := s.store.LockCode(ctx, false) // see CreateFunction
	if err != nil {
		return nil, internal("lock code", err)
	}
	defer unlock()
	publish := in.publish || in.publishTo != nil
	copies := int64(1)
	if publish {
		copies = 2
	}
	build := func(latest *lambdahost.Version) {
		latest.Code = st.code
		if in.architectures != nil {
			latest.Config.Architectures = slices.Clone(in.architectures)
		}
		s.beginUpdate(latest)
	}
	if in.dryRun {
		err := s.store.View(ctx, func(tx lambdahost.Tx) error {
			if err := s.checkStorage(ctx, tx, t.id, st.code.Size*copies-cur.Code.Size); err != nil {
				return err
			}
			if err := checkUnzippedWithLayers(st.code, cur.Config.Layers); err != nil {
				return err
			}
			_, err := s.verifyCode(ctx, tx, t.id, in.cscARN, st)
			return err
		})
		if err != nil {
			return nil, internal("check storage", err)
		}
		would := *cur
		would.Config = cloneConfig(cur.Config)
		build(&would)
		would.RevisionID = cur.RevisionID
		return &FunctionConfig{Version: &would, ARN: t.id.ARN()}, nil
	}
	if err := st.commit(ctx); err != nil {
		return nil, internal("commit code", err)
	}
	var latest, pub *lambdahost.Version
	var settle []*lambdahost.Version
	var (
		hist    *Deployment
		settled bool
	)
	committing := time.Now()
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		settle = settle[:0]
		fn, cur, err := latestOf(ctx, tx, t.id)
		if err != nil {
			return err
		}
		latest = cur
		if err := checkWritable(t.id, latest, in.revisionID); err != nil {
			return err
		}
		if err := in.check(ctx, tx); err != nil {
			return err
		}
		// $LATEST's old code stops counting; a published copy counts anew.
		if err := s.checkStorage(ctx, tx, t.id, st.code.Size*copies-latest.Code.Size); err != nil {
			return err
		}
		if err := checkUnzippedWithLayers(st.code, latest.Config.Layers); err != nil {
			return err
		}
		// The config is read again here: it may have changed since the
		// first read, and the deployment must obey the one it commits with.
		bound, err := boundCSC(ctx, tx, t.id)
		if err != nil {
			return err
		}
		if _, err := s.verifyCode(ctx, tx, t.id, bound, st); err != nil {
			return err
		}
		if err := st.store(ctx, tx); err != nil {
			return err
		}
		build(latest)
		fn.Changes++
		if publish {
			pub = s.publishCopy(fn, latest, in.publishTo, nil, latest.LastModified)
			u, err := s.putWith(ctx, tx, st.fail, pub)
			if err != nil {
				return err
			}
			settle = append(settle, u)
		}
		if err := tx.PutFunction(ctx, fn); err != nil {
			return err
		}
		u, err := s.putWith(ctx, tx, st.fail, latest)
		if err != nil {
			return err
		}
		settle = append(settle, u)
		hist = deploymentOf(ctx, in.op, in.began, fn.Changes, latest)
		hist.Timing = st.timingSoFar()
		hist.RolledBackTo = in.rolledBackTo
		if pub != nil {
			hist.PublishedVersion = pub.Name
		}
		settled, err = s.recordDeployment(ctx, tx, t.id, hist)
		return err
	})
	if err != nil {
		return nil, s.notFoundOr(t, err, "update function code")
	}
	s.deployed(ctx, in.op, t.id, st, committing)
	if settled {
		s.meterSettled(hist)
	}
	s.schedule(settle...)
	if pub != nil {
		return &FunctionConfig{Version: pub, ARN: pub.ARN()}, nil
	}
	return &FunctionConfig{Version: latest, ARN: t.id.ARN()}, nil
}

// latestOf reads, within tx, the function id and its $LATEST version,
// which every change to $LATEST writes back.
func latestOf(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID) (*lambdahost.Function, *lambdahost.Version, error) {
	fn, err := tx.Function(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	latest, err := tx.Version(ctx, id, lambdahost.VersionLatest)
	if err != nil {
		return nil, nil, err
	}
	return fn, latest, nil
}

// beginUpdate stamps latest as changed now by an update in progress, with
// a new RevisionId.
func (s *Service) beginUpdate(latest *lambdahost.Version) {
	latest.LastModified = s.now()
	latest.Status = updating()
	latest.RevisionID = s.NewRevisionID()
}

// checkWritable answers the errors AWS gives before changing $LATEST: an
// update in progress, then a stale RevisionId.
func checkWritable(id lambdahost.FunctionID, latest *lambdahost.Version, revisionID *string) error {
	if latest.Status.Busy() {
		return inProgress(id)
	}
	if revisionID != nil && *revisionID != latest.RevisionID {
		return revisionMismatch()
	}
	return nil
}

// UpdateConfigInput is an UpdateFunctionConfiguration request.
type UpdateConfigInput struct {
	FunctionName string
	Config       ConfigInput
	RevisionID   *string
}

// UpdateFunctionConfiguration changes $LATEST's configuration and answers it
// with LastUpdateStatus InProgress.
func (s *Service) UpdateFunctionConfiguration(ctx context.Context, in *UpdateConfigInput) (*FunctionConfig, error) {
	s.init()
	began := s.Now()
	t, err := resolveFunction(ctx, in.FunctionName, ruleLatestOnly)
	if err != nil {
		return nil, err
	}
	c, err := caller(ctx)
	if err != nil {
		return nil, internal("update function configuration", err)
	}
	var latest, unsettled *lambdahost.Version
	var (
		hist    *Deployment
		settled bool
	)
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		fn, cur, err := latestOf(ctx, tx, t.id)
		if err != nil {
			return err
		}
		latest = cur
		if err := validateConfig(&in.Config, latest.Code.PackageType); err != nil {
			return err
		}
		if err := checkLogLevels(&in.Config, latest.Config.Logging.LogFormat); err != nil {
			return err
		}
		if err := checkWritable(t.id, latest, in.RevisionID); err != nil {
			return err
		}
		if in.Config.Layers != nil {
			layers, recs, err := attachLayers(ctx, tx, c, t.id, *in.Config.Layers)
			if err != nil {
				return err
			}
			if err := checkUnzippedWithLayers(latest.Code, layers); err != nil {
				return err
			}
			bound, err := boundCSC(ctx, tx, t.id)
			if err != nil {
				return err
			}
			if err := s.verifyLayers(ctx, tx, t.id, bound, recs, latest.Config.Layers); err != nil {
				return err
			}
			latest.Config.Layers = layers
		}
		apply(&latest.Config, &in.Config)
		s.beginUpdate(latest)
		fn.Changes++
		if err := tx.PutFunction(ctx, fn); err != nil {
			return err
		}
		if unsettled, err = s.put(ctx, tx, latest); err != nil {
			return err
		}
		hist = deploymentOf(ctx, "UpdateFunctionConfiguration", began, fn.Changes, latest)
		hist.Changed = in.Config.fields()
		settled, err = s.recordDeployment(ctx, tx, t.id, hist)
		return err
	})
	if err != nil {
		return nil, s.notFoundOr(t, err, "update function configuration")
	}
	if settled {
		s.meterSettled(hist)
	}
	s.schedule(unsettled)
	return &FunctionConfig{Version: latest, ARN: t.id.ARN()}, nil
}

// PublishVersionInput is a PublishVersion request.
type PublishVersionInput struct {
	FunctionName string
	CodeSHA256   *string
	Description  *string
	RevisionID   *string
	PublishTo    *string
}

// PublishVersion publishes $LATEST as a new version, or answers the latest
// published version when $LATEST has not changed since it was published.
func (s *Service) PublishVersion(ctx context.Context, in *PublishVersionInput) (*FunctionConfig, error) {
	s.init()
	t, err := resolveFunction(ctx, in.FunctionName, ruleLatestOnly)
	if err != nil {
		return nil, err
	}
	var v lambdahost.Validation
	checkDescription(&v, in.Description)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := validatePublishTo(in.PublishTo); err != nil {
		return nil, err
	}
	var pub, unsettled *lambdahost.Version
	err = s.store.Update(ctx, func(tx lambdahost.Tx) error {
		unsettled = nil
		fn, latest, err := latestOf(ctx, tx, t.id)
		if err != nil {
			return err
		}
		if err := checkWritable(t.id, latest, in.RevisionID); err != nil {
			return err
		}
		if in.CodeSHA256 != nil && *in.CodeSHA256 != latest.Code.SHA256() {
			return invalidf("CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", *in.CodeSHA256, latest.Code.SHA256())
		}
		if in.PublishTo == nil && fn.LastVersion > 0 && fn.PublishedChanges == fn.Changes {
			pub, err = tx.Version(ctx, t.id, itoa(fn.LastVersion))
			if err == nil {
				return nil
			}
			if !errors.Is(err, lambdahost.ErrNotFound) {
				return err
			}
			// The last version was deleted: publish a new one.
		}
		if err := s.checkStorage(ctx, tx, t.id, latest.Code.Size); err != nil {
			return err
		}
		pub = s.publishCopy(fn, latest, in.PublishTo, in.Description, s.now())
		if err := tx.PutFunction(ctx, fn); err != nil {
			return err
		}
		unsettled, err = s.put(ctx, tx, pub)
		return err
	})
	if err != nil {
		return nil, s.notFoundOr(t, err, "publish version")
	}
	s.schedule(unsettled)
	return &FunctionConfig{Version: pub, ARN: pub.ARN()}, nil
}
