"""The jobs of a stack: listing them by pipeline run (`jobs`) and reading their logs (`logs`)."""
