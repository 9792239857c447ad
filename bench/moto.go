package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// motoResult is the outcome of the moto comparison.
type motoResult struct {
	idleRSS int64
	// roleNeeded records that moto refused CreateFunction until the role
	// existed in its IAM.
	roleNeeded bool
}

// motoTest starts moto_server, creates the execution role and one function
// per size there, and replays the same update bodies, re-signed for moto's
// host (Host is a signed header; moto does not check signatures). moto
// answers UpdateFunctionCode synchronously, so it is not polled.
func motoTest(tmp string, cfg *config, data []*sizeData, tiny []byte) (*motoResult, error) {
	logf("starting moto_server")
	p, err := startMoto(tmp)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := p.stop(); err != nil {
			logf("moto_server exit: %v", err)
		}
	}()
	res := &motoResult{}
	time.Sleep(500 * time.Millisecond)
	res.idleRSS, _, _ = p.rss()

	c := newClient(p.addr)
	defer c.close()

	// moto checks that the role exists (awslambda/models.py put_function):
	// try without it first, to record whether that is still so.
	first := data[0].spec.fnName()
	if err := createFunction(c, p.addr, first, tiny); err != nil {
		res.roleNeeded = true
		if err := createRole(c, p.addr); err != nil {
			return nil, err
		}
		if err := createFunction(c, p.addr, first, tiny); err != nil {
			return nil, err
		}
	}
	for _, d := range data[1:] {
		if err := createFunction(c, p.addr, d.spec.fnName(), tiny); err != nil {
			return nil, err
		}
	}
	for _, d := range data {
		if err := waitSuccessful(c, p.addr, d.spec.fnName(), 30*time.Second); err != nil {
			return nil, err
		}
	}

	for _, d := range data {
		n := d.spec.n
		if cfg.motoN > 0 {
			n = min(n, cfg.motoN)
		}
		var reqs []rawRequest
		for _, b := range d.bodies[:cfg.warmup+n] {
			r, err := sign(p.addr, http.MethodPut, "/2015-03-31/functions/"+d.spec.fnName()+"/code", "", b, "application/json", "lambda")
			if err != nil {
				return nil, err
			}
			reqs = append(reqs, r)
		}
		logf("moto updates %s: %d warmup + %d timed", d.spec.label, cfg.warmup, n)
		if d.moto, err = replayUpdates(c, reqs, cfg.warmup, nil); err != nil {
			return nil, fmt.Errorf("updates %s: %w", d.spec.label, err)
		}
	}
	return res, nil
}

// createRole creates the bench role in moto's IAM.
func createRole(c *client, host string) error {
	const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	form := url.Values{"Action": {"CreateRole"}, "Version": {"2010-05-08"}, "RoleName": {"r"}, "AssumeRolePolicyDocument": {trust}}
	req, err := sign(host, http.MethodPost, "/", "", newBody([]byte(form.Encode())), "application/x-www-form-urlencoded; charset=utf-8", "iam")
	if err != nil {
		return err
	}
	var out bytes.Buffer
	st, err := c.doRetry(req, &out)
	if err != nil {
		return fmt.Errorf("create role: %w", err)
	}
	if st != http.StatusOK {
		return fmt.Errorf("create role: status %d: %s", st, trim(out.Bytes()))
	}
	return nil
}
