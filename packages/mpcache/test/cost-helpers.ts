/** The protocols' exact-cost assertions (both parties: rounds, bytes sent, offline bytes), shared here. */
export * from '../../protocols/test/cost-helpers';
