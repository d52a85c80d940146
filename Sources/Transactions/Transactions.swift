// Transactions
