// Command etcd is the etcd server from go.etcd.io/etcd/server/v3 (the module's own
// cmd lives in the root go.etcd.io/etcd/v3 module, which is not meant to be
// required; etcdmain.Main is the entry point that cmd calls), for the
// deployability check's kube-apiserver. See conformance/README.md.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
