"""Internet+ exchange: listings, matching, electronic manifests (联单) and their alerts; core, no web/store imports."""
