// Command minio-policy evaluates IAM policy documents with MinIO's own policy package
// (github.com/minio/pkg/v3/policy, what the MinIO server parses and evaluates user
// policies with), for the tests: no MinIO server can be built from the module proxy.
//
// It reads one JSON object on stdin, {"policy": <document>, "requests": [<Args>...]},
// where each request is a policy.Args in its JSON form ({"action", "bucket", "object",
// "conditions"}), and writes {"allowed": [bool...]}; a document MinIO would refuse
// (policy.ParseConfig: unknown fields, actions on the wrong kind of resource) writes
// {"error": "..."} and exits 1.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/minio/pkg/v3/policy"
)

type input struct {
	Policy   json.RawMessage `json:"policy"`
	Requests []policy.Args   `json:"requests"`
}

func fail(err error) {
	_ = json.NewEncoder(os.Stdout).Encode(map[string]string{"error": err.Error()})
	os.Exit(1)
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fail(fmt.Errorf("reading the input: %w", err))
	}
	parsed, err := policy.ParseConfig(bytes.NewReader(in.Policy))
	if err != nil {
		fail(err)
	}
	allowed := make([]bool, len(in.Requests))
	for i, args := range in.Requests {
		allowed[i] = parsed.IsAllowed(args)
	}
	if err := json.NewEncoder(os.Stdout).Encode(map[string][]bool{"allowed": allowed}); err != nil {
		fail(err)
	}
}
