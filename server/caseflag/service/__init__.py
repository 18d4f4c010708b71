"""The answer: the verdict's rules and shape, the bounds on waiting for DNS, and the lookup service that combines the list, the network and the caches."""
