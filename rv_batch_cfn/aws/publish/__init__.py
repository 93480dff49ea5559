"""Container images: `publish-container` builds and pushes them to the stack's repositories."""
