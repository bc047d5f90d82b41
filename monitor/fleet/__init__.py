"""Fleet mode: every organization's own WhatsApp and Stripe, checked on a budget."""
