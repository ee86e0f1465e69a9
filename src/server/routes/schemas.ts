/** Shared JSON schemas (validation and OpenAPI). */
export const errorSchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object', additionalProperties: true } },
} as const;

export const errorResponses = {
  400: errorSchema,
  401: errorSchema,
  403: errorSchema,
  404: errorSchema,
  409: errorSchema,
  413: errorSchema,
  415: errorSchema,
  422: errorSchema,
  429: errorSchema,
  500: errorSchema,
  503: errorSchema,
} as const;

/** Non-negative integer in a query string (kept as a string schema: no silent coercion). */
export const uintString = { type: 'string', pattern: '^(0|[1-9][0-9]{0,15})$' } as const;

export const bearer = [{ bearerAuth: [] }];
