// Package kubernetes holds mailferry's Kubernetes manifests (an Indexed Job,
// a CronJob, the state volume's claim and the jobs file they run); its
// tests decode them strictly into the Kubernetes API types and check that
// they fit together and with the Dockerfile. The mailferry binary does not
// link it.
package kubernetes
