// ValidateNested accepts a list where one object belongs (a 500 or silently dropped fields), so
// every single-object section must also carry IsPlainObject; this keeps new sections honest.
import 'reflect-metadata';
import { getMetadataStorage } from 'class-validator';
import * as createModel from '../../models/dto/create-model.dto';
import * as compare from './compare-request.dto';
import * as plan from './plan-request.dto';
import * as search from './search-request.dto';

const storage = getMetadataStorage();

function dtoClasses(): [string, new () => object][] {
  return [plan, compare, search, createModel]
    .flatMap((module) => Object.entries(module))
    .filter(([name, value]) => typeof value === 'function' && name.endsWith('Dto'))
    .map(([name, value]) => [name, value as new () => object]);
}

/** Properties validated as one nested object (not `each` over a list). */
function singleNestedProperties(target: new () => object): string[] {
  return storage
    .getTargetValidationMetadatas(target, '', true, false)
    .filter((m) => m.type === 'nestedValidation' && !m.each)
    .map((m) => m.propertyName);
}

function hasPlainObjectCheck(target: new () => object, property: string): boolean {
  return storage
    .getTargetValidationMetadatas(target, '', true, false)
    .some(
      (m) =>
        m.propertyName === property &&
        !m.each &&
        m.constraintCls !== undefined &&
        storage
          .getTargetValidatorConstraints(m.constraintCls)
          .some((c) => c.name === 'isPlainObject'),
    );
}

describe('nested request sections', () => {
  const nested = dtoClasses().flatMap(([name, target]) =>
    singleNestedProperties(target).map((property) => [`${name}.${property}`, target, property]),
  ) as [string, new () => object, string][];

  it('finds the sections it guards', () => {
    expect(nested.map(([label]) => label)).toEqual(
      expect.arrayContaining([
        'PlanRequestDto.cluster',
        'TrainingDto.lora',
        'CompareRequestDto.base',
      ]),
    );
  });

  it.each(nested)('%s refuses a list as well as validating its fields', (_, target, property) => {
    expect(hasPlainObjectCheck(target, property)).toBe(true);
  });
});
