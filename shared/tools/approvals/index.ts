export * from './ApprovalRecord';
export * from './Approvals';
export * from './approvalStatus';
export * from './DynamoApprovalStore';
