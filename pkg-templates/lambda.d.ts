import type { ReceiverOptions, Webhooks } from './index.js';

/** The parts of an API Gateway (REST v1, HTTP API v2) or Function URL event the handler reads. */
export interface LambdaHttpEvent {
  httpMethod?: string;
  requestContext?: { http?: { method?: string; sourceIp?: string }; identity?: { sourceIp?: string } };
  headers?: Record<string, string | undefined> | null;
  multiValueHeaders?: Record<string, string[] | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
}

/** The proxy result API Gateway and Function URLs take. */
export interface LambdaHttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: false;
}

/**
 * A Lambda handler receiving Commerce Layer webhooks behind API Gateway or a Function URL.
 *
 * ```js
 * import { createLambdaHandler } from 'clhooks/lambda';
 * export const handler = createLambdaHandler({ secret: process.env.CL_WEBHOOK_SECRET, onEvent });
 * ```
 */
export function createLambdaHandler(options: ReceiverOptions | Webhooks): (event: LambdaHttpEvent, context?: unknown) => Promise<LambdaHttpResult>;
