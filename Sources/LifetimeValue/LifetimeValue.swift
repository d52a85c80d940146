// LifetimeValue
