"""The network: DNS queries and their pace, origin ASNs, who serves an address, caches."""
