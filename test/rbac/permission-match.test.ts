import { describe, expect, it } from 'vitest'
import { isTenantryError } from '../../src/index.js'
import { normalisePermissions, parsePermission, permissionCovers } from '../../src/rbac/permission-match.js'

describe('permission matching', () => {
  const table: [granted: string, requested: string, covers: boolean][] = [
    ['projects:read', 'projects:read', true],
    ['projects:read', 'projects:write', false],
    ['projects:read', 'devices:read', false],
    ['projects:*', 'projects:write', true],
    ['projects:*', 'devices:write', false],
    ['*:read', 'projects:read', true],
    ['*:read', 'projects:write', false],
    ['*:*', 'billing.invoices:export', true],
    ['*:*', '*:*', true],
    ['projects:*', 'projects:*', true],
    // a wildcard in a request asks for every name on that side, so only a wildcard grant covers it
    ['projects:read', 'projects:*', false],
    ['*:read', '*:*', false],
    ['projects:*', '*:read', false],
    ['*:read', '*:read', true],
    // names are exact: no prefix matching, no case folding
    ['project:read', 'projects:read', false],
    ['projects:read', 'projects:read-all', false],
    ['modules.v2:read', 'modules.v2:read', true],
  ]
  for (const [granted, requested, covers] of table) {
    it(`${granted} ${covers ? 'covers' : 'does not cover'} ${requested}`, () => {
      expect(permissionCovers(granted, requested)).toBe(covers)
    })
  }

  it('refuses malformed permissions with VALIDATION, naming the string', () => {
    for (const bad of ['projects', 'Projects:read', 'projects:', ':read', 'projects:read:all', 'pro jects:read', '**:read', '', `${'x'.repeat(300)}:read`]) {
      let error: unknown
      try {
        parsePermission(bad, 'can')
      } catch (e) {
        error = e
      }
      expect(isTenantryError(error, 'VALIDATION')).toBe(true)
    }
    expect(() => parsePermission(42, 'can')).toThrow(expect.objectContaining({ code: 'VALIDATION' }))
    expect(() => parsePermission('Projects:read', 'can')).toThrow(/"Projects:read"/)
  })

  it('accepts what the database check accepts', () => {
    expect(parsePermission('billing.invoices_v2-x:export')).toEqual({ resource: 'billing.invoices_v2-x', action: 'export' })
  })

  it('de-duplicates a permission list and names the index of a malformed entry', () => {
    expect(normalisePermissions(['a:read', '*:*', 'a:read'], 'roles.create')).toEqual(['a:read', '*:*'])
    expect(() => normalisePermissions(['a:read', 'nope'], 'roles.create')).toThrow(/permissions\[1\]/)
    expect(() => normalisePermissions('a:read', 'roles.create')).toThrow(expect.objectContaining({ code: 'VALIDATION' }))
  })
})
