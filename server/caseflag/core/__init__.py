"""The domain core: host names, special-use names, address ranges, errors, settings and the message catalogue that words every answer."""
