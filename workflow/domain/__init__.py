"""The domain: events and upcasting, validation (a Verdict), the projection's rules, rejections,
execution naming. No AWS SDK and no table layout here (those are `workflow.adapters`')."""
